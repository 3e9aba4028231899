stage                    = "staging"
kubernetes_namespace     = "aquaml-staging"
availability_zones       = 2
cpu_nodes                = { min = 1, desired = 2, max = 4 }
gpu_nodes                = { min = 0, desired = 0, max = 1 }
db_instance_class        = "db.t4g.medium"
db_multi_az              = false
db_backup_retention_days = 3
redis_node_type          = "cache.t4g.small"
redis_replicas           = 0
ecr_repository           = "aquaml-staging"
