module github.com/ginstarter/ginstarter/lab/clustercheck

go 1.26.8
