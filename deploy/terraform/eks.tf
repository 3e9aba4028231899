module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.24"

  cluster_name    = local.name
  cluster_version = var.kubernetes_version

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  cluster_endpoint_public_access           = true
  enable_cluster_creator_admin_permissions = true
  # IAM roles for service accounts: the app's S3 access (iam.tf).
  enable_irsa = true

  cluster_addons = {
    coredns    = {}
    kube-proxy = {}
    vpc-cni = {
      # NetworkPolicies (deploy/k8s) are enforced by the VPC CNI's network policy agent.
      configuration_values = jsonencode({ enableNetworkPolicy = "true" })
    }
    aws-ebs-csi-driver = {}
  }

  eks_managed_node_groups = {
    cpu = {
      instance_types = var.cpu_node_instance_types
      min_size       = var.cpu_nodes.min
      desired_size   = var.cpu_nodes.desired
      max_size       = var.cpu_nodes.max
      labels         = { "aquaml.io/pool" = "cpu" }
    }
    gpu = {
      ami_type       = "AL2_x86_64_GPU"
      instance_types = var.gpu_node_instance_types
      min_size       = var.gpu_nodes.min
      desired_size   = var.gpu_nodes.desired
      max_size       = var.gpu_nodes.max
      labels         = { "aquaml.io/pool" = "gpu" }
      # Only pods that ask for a GPU (and tolerate this taint) land here.
      taints = {
        gpu = { key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }
      }
    }
  }
}
