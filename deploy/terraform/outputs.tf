# Named after the app's settings (README "Configuration"): put them in the Secret aquaml-secrets and
# the overlay's ConfigMap (deploy/k8s/README.md).

output "DATABASE_URL" {
  description = "PostgreSQL of the stage (TLS enforced by the parameter group)."
  value       = "postgres://${aws_db_instance.postgres.username}:${random_password.db.result}@${aws_db_instance.postgres.endpoint}/${aws_db_instance.postgres.db_name}?sslmode=require"
  sensitive   = true
}

output "REDIS_URL" {
  description = "ElastiCache Redis of the stage (TLS, auth token)."
  value       = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379"
  sensitive   = true
}

output "AQUAML_MODEL_STORE_URL" {
  description = "The S3 model store."
  value       = "s3://${aws_s3_bucket.models.bucket}/models"
}

output "AQUAML_S3_REGION" {
  description = "Region of the model store bucket."
  value       = var.region
}

output "app_role_arn" {
  description = "IAM role for the service account aquaml (annotation eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.app.arn
}

output "ecr_repository_url" {
  description = "Where CI pushes the image."
  value       = aws_ecr_repository.app.repository_url
}

output "eks_cluster_name" {
  description = "aws eks update-kubeconfig --name <this>"
  value       = module.eks.cluster_name
}
