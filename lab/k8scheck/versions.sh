# Versions pinned for the lab's Kubernetes checks, sourced by
# validate-manifests and clustercheck/run. Kubernetes' own version is the one
# lab/k8scheck/go.mod requires.
KUBECONFORM_VERSION=v0.8.0
PROMETHEUS_OPERATOR_VERSION=v0.94.1 # the newest the Go module proxy serves (v0.95.x: 403)
