package testkit

import dto "github.com/prometheus/client_model/go"

// HasLabels reports whether m carries every label of want with its value;
// m may carry other labels besides.
func HasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// FindSeries returns the first series of the family called name in mfs
// whose labels include want, or nil.
func FindSeries(mfs []*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if HasLabels(m, want) {
				return m
			}
		}
	}
	return nil
}
