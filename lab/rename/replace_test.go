package rename

import "testing"

func TestReplacer(t *testing.T) {
	orders := Plan{FromModule: TemplateModule, Module: "github.com/acme/orders", Name: "orders"}
	tests := []struct {
		name string
		plan Plan
		in   string
		want string
	}{
		{"import", orders,
			`"github.com/ginstarter/ginstarter/middleware"`,
			`"github.com/acme/orders/middleware"`},
		{"module before name", orders,
			"module github.com/ginstarter/ginstarter/bench\nreplace github.com/ginstarter/ginstarter => ../\n",
			"module github.com/acme/orders/bench\nreplace github.com/acme/orders => ../\n"},
		{"job selector and labels", orders,
			`up{job="ginstarter"} app.kubernetes.io/name: ginstarter namespace: ginstarter-dev`,
			`up{job="orders"} app.kubernetes.io/name: orders namespace: orders-dev`},
		{"capitalized", Plan{FromModule: TemplateModule, Module: "example.com/x", Name: "order-service"},
			"bench.GinstarterFull GinstarterHighErrorRate ginstarter",
			"bench.OrderServiceFull OrderServiceHighErrorRate order-service"},
		{"runbook link drops the major version", Plan{FromModule: TemplateModule, Module: "github.com/acme/orders/v2", Name: "orders"},
			"runbook_url: https://github.com/ginstarter/ginstarter/blob/main/deploy/README.md#x",
			"runbook_url: https://github.com/acme/orders/blob/main/deploy/README.md#x"},
		{"module path at the end of a sentence", orders,
			"Its module is github.com/ginstarter/ginstarter.",
			"Its module is github.com/acme/orders."},
		{"new module path holding the old name is not renamed again", Plan{FromModule: TemplateModule, Module: "github.com/ginstarter/orders", Name: "orders"},
			`"github.com/ginstarter/ginstarter/routes" ginstarter`,
			`"github.com/ginstarter/orders/routes" orders`},
		{"after gonew: the module in go.mod and the template's elsewhere", Plan{FromModule: "github.com/acme/orders", Module: "github.com/acme/orders", Name: "orders"},
			"github.com/acme/orders/bench github.com/ginstarter/ginstarter/bench",
			"github.com/acme/orders/bench github.com/acme/orders/bench"},
		{"a longer module path is someone else's", Plan{FromModule: "github.com/acme/orders", Module: "github.com/acme/shop", Name: "shop"},
			"github.com/acme/orders-client github.com/acme/orders/x xgithub.com/acme/orders",
			"github.com/acme/orders-client github.com/acme/shop/x xgithub.com/acme/orders"},
		{"unrelated text", orders, "gin starter, gin.Engine", "gin starter, gin.Engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplacer(tt.plan)
			got, n := r.apply(tt.in)
			if got != tt.want {
				t.Errorf("apply(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if (n > 0) != (tt.in != tt.want) {
				t.Errorf("apply reported %d replacements for a change of %v", n, tt.in != tt.want)
			}
			// Running again on the output, as a second rename would, with
			// go.mod now declaring the new module: nothing changes.
			again := tt.plan
			again.FromModule = tt.plan.Module
			if got2, n2 := newReplacer(again).apply(got); got2 != got || n2 != 0 {
				t.Errorf("second apply changed %q to %q (%d replacements)", got, got2, n2)
			}
		})
	}
}
