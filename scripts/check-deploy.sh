#!/usr/bin/env bash
# Offline checks of deploy/: Prometheus rules (syntax and unit tests), Prometheus config, every
# Kubernetes overlay renders, compose.yaml is valid, Terraform is formatted. A missing Debian tool
# is an error, not a skip (.ci/run installs them first); Terraform, which Debian does not package,
# is checked where it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "check-deploy: $1 is missing (install: $2)" >&2
    exit 1
  fi
}
need promtool 'apt-get install -y prometheus'
need kubectl 'apt-get install -y kubernetes-client'
need docker-compose 'apt-get install -y docker-compose'

promtool check rules deploy/prometheus/rules/*.yml
# --syntax-only: the token file it names exists only in the running container (compose.yaml).
promtool check config --syntax-only deploy/prometheus/prometheus.yml
(cd deploy/prometheus && promtool test rules tests/*.yml)

for overlay in deploy/k8s/overlays/*/; do
  kubectl kustomize "$overlay" >/dev/null
  echo "kubectl kustomize $overlay: ok"
done

# compose refuses to render without its secrets: give it stand-ins for the check.
POSTGRES_PASSWORD=check AQUAML_JWT_SECRET=check AQUAML_METRICS_TOKEN=check GRAFANA_ADMIN_PASSWORD=check \
  docker-compose -f deploy/compose.yaml config --quiet
echo "docker-compose config deploy/compose.yaml: ok"

# Terraform is no Debian package: a machine without it says so instead of failing the run.
if command -v terraform >/dev/null 2>&1; then
  terraform -chdir=deploy/terraform fmt -check -recursive
  echo "terraform fmt -check deploy/terraform: ok"
else
  echo "check-deploy: terraform is not installed here; deploy/terraform was not format-checked"
fi
