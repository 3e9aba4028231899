# terraform init -backend-config=stages/staging.backend.hcl (create the bucket and table once, by hand).
bucket         = "aquaml-terraform-state"
key            = "staging/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "aquaml-terraform-locks"
encrypt        = true
