# terraform init -backend-config=stages/production.backend.hcl (create the bucket and table once, by hand).
bucket         = "aquaml-terraform-state"
key            = "production/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "aquaml-terraform-locks"
encrypt        = true
