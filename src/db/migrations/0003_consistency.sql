ALTER TABLE "predictions" ADD COLUMN "scientific_name" text;
--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "timings" jsonb;
