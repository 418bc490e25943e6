# docker buildx bake: the firmware image for both router architectures, layers cached in GitHub
# Actions' cache. VERSION comes from the tag (.github/workflows/firmware-image.yml).
variable "VERSION" {
  default = "dev"
}

variable "REGISTRY" {
  default = "ghcr.io/x0tta6bl4"
}

group "default" {
  targets = ["firmware"]
}

target "firmware" {
  context    = "."
  dockerfile = "Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64"]
  tags       = ["${REGISTRY}/x0-node:${VERSION}", "${REGISTRY}/x0-node:latest"]
  cache-from = ["type=gha"]
  cache-to   = ["type=gha,mode=max"]
}
