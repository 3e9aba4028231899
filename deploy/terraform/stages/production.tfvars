stage                    = "production"
kubernetes_namespace     = "aquaml"
availability_zones       = 3
cpu_nodes                = { min = 3, desired = 3, max = 12 }
gpu_nodes                = { min = 0, desired = 0, max = 2 }
db_instance_class        = "db.r6g.large"
db_multi_az              = true
db_backup_retention_days = 14
redis_node_type          = "cache.r7g.large"
redis_replicas           = 1
ecr_repository           = "aquaml"
