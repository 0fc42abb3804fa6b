module github.com/ginstarter/ginstarter/lab

go 1.26.8

toolchain go1.26.10

require go.yaml.in/yaml/v3 v3.0.6
