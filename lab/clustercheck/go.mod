module github.com/ginstarter/ginstarter/lab/clustercheck

go 1.26.8

toolchain go1.26.10
