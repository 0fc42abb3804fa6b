package metrics

// MapsOnly makes m find each route's recorder in its route maps alone,
// bypassing the table of recent routes, so that benchmarks can measure what
// the table saves.
func MapsOnly(m *HTTP) { m.cache.mapsOnly = true }
