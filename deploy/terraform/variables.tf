variable "stage" {
  description = "Deployment stage: staging or production (names every resource)."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.stage)
    error_message = "stage must be staging or production."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; public, private and database subnets are carved from it."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "How many availability zones the VPC, EKS, RDS and ElastiCache span."
  type        = number
  default     = 3
}

variable "kubernetes_version" {
  description = "EKS control plane version."
  type        = string
  default     = "1.31"
}

variable "cpu_node_instance_types" {
  description = "Instance types of the CPU node group (api, worker)."
  type        = list(string)
  default     = ["c7i.xlarge"]
}

variable "cpu_nodes" {
  description = "Size of the CPU node group."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 2, desired = 3, max = 10 }
}

variable "gpu_node_instance_types" {
  description = "Instance types of the GPU node group (training, large batch inference)."
  type        = list(string)
  default     = ["g5.xlarge"]
}

variable "gpu_nodes" {
  description = "Size of the GPU node group; min 0 lets it scale to zero between jobs."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 0, desired = 0, max = 2 }
}

variable "db_instance_class" {
  description = "RDS PostgreSQL instance class."
  type        = string
  default     = "db.r6g.large"
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage; it grows automatically up to 10x."
  type        = number
  default     = 50
}

variable "db_multi_az" {
  description = "Standby replica in a second availability zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Automated backups (point-in-time recovery) kept this many days."
  type        = number
  default     = 14
}

variable "redis_node_type" {
  description = "ElastiCache Redis node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_replicas" {
  description = "Read replicas per shard (at least 1 for automatic failover)."
  type        = number
  default     = 1
}

variable "kubernetes_namespace" {
  description = "Namespace the app runs in (deploy/k8s overlays: aquaml, aquaml-staging)."
  type        = string
}

variable "ecr_repository" {
  description = "Name of the container image repository."
  type        = string
  default     = "aquaml"
}
