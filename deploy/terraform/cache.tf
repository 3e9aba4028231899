resource "aws_elasticache_subnet_group" "redis" {
  name       = "${local.name}-redis"
  subnet_ids = module.vpc.database_subnets
}

resource "random_password" "redis" {
  length  = 48
  special = false
}

# BullMQ queue, Redis Streams event bus, shared prediction cache and rate-limit counters.
resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = local.name
  description          = "AquaML queue, event bus, cache and rate limits"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379

  num_cache_clusters         = 1 + var.redis_replicas
  automatic_failover_enabled = var.redis_replicas > 0
  multi_az_enabled           = var.redis_replicas > 0

  subnet_group_name  = aws_elasticache_subnet_group.redis.name
  security_group_ids = [aws_security_group.database.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.data.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis.result

  # BullMQ keeps its jobs in Redis: never evict them.
  parameter_group_name = aws_elasticache_parameter_group.redis.name

  snapshot_retention_limit = 7
}

resource "aws_elasticache_parameter_group" "redis" {
  name   = "${local.name}-redis7"
  family = "redis7"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}
