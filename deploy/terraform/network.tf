data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  name = "aquaml-${var.stage}"
  azs  = slice(data.aws_availability_zones.available.names, 0, var.availability_zones)
}

# Public subnets: load balancers and NAT gateways. Private: EKS nodes. Database: RDS and
# ElastiCache, not routed to the internet.
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.13"

  name = local.name
  cidr = var.vpc_cidr
  azs  = local.azs

  public_subnets   = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, i)]
  private_subnets  = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 4, i + 1)]
  database_subnets = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, i + 100)]

  create_database_subnet_group       = true
  create_elasticache_subnet_group    = false
  create_database_subnet_route_table = true

  enable_nat_gateway     = true
  single_nat_gateway     = var.stage != "production"
  one_nat_gateway_per_az = var.stage == "production"
  enable_dns_hostnames   = true

  public_subnet_tags  = { "kubernetes.io/role/elb" = 1 }
  private_subnet_tags = { "kubernetes.io/role/internal-elb" = 1 }
}
