module github.com/ginstarter/ginstarter/lab

go 1.26.8

toolchain go1.26.10
