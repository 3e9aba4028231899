CREATE TABLE "readings" (
	"device_id" uuid NOT NULL,
	"unit_id" uuid NOT NULL,
	"metric" text NOT NULL,
	"ts" timestamp (3) with time zone NOT NULL,
	"value" double precision NOT NULL,
	CONSTRAINT "readings_pkey" PRIMARY KEY("device_id","metric","ts")
);
--> statement-breakpoint
CREATE INDEX "readings_unit_metric_ts_idx" ON "readings" USING btree ("unit_id","metric","ts");
--> statement-breakpoint
CREATE INDEX "readings_ts_brin" ON "readings" USING brin ("ts");
--> statement-breakpoint
CREATE TABLE "reading_rollups_minute" (
	"unit_id" uuid NOT NULL,
	"metric" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"sum" double precision NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "reading_rollups_minute_pkey" PRIMARY KEY("unit_id","metric","bucket")
);
--> statement-breakpoint
CREATE INDEX "reading_rollups_minute_bucket_brin" ON "reading_rollups_minute" USING brin ("bucket");
--> statement-breakpoint
CREATE TABLE "reading_rollups_hour" (
	"unit_id" uuid NOT NULL,
	"metric" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"sum" double precision NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "reading_rollups_hour_pkey" PRIMARY KEY("unit_id","metric","bucket")
);
--> statement-breakpoint
CREATE INDEX "reading_rollups_hour_bucket_brin" ON "reading_rollups_hour" USING brin ("bucket");
--> statement-breakpoint
CREATE TABLE "unit_thresholds" (
	"unit_id" uuid NOT NULL,
	"metric" text NOT NULL,
	"min" double precision,
	"max" double precision,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "unit_thresholds_pkey" PRIMARY KEY("unit_id","metric")
);
--> statement-breakpoint
ALTER TABLE "unit_thresholds" ADD CONSTRAINT "unit_thresholds_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "unit_thresholds" ADD CONSTRAINT "unit_thresholds_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
CREATE TABLE "alert_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"alert_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"type" text NOT NULL,
	"actor_user_id" uuid,
	"value" double precision,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alert_events" ADD CONSTRAINT "alert_events_alert_id_alerts_id_fk" FOREIGN KEY ("alert_id") REFERENCES "public"."alerts"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "alert_events" ADD CONSTRAINT "alert_events_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "alert_events_alert_idx" ON "alert_events" USING btree ("alert_id","at");
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "state" text DEFAULT 'open' NOT NULL;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "opened_at" timestamp with time zone DEFAULT now() NOT NULL;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "farm_id" uuid;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "unit_id" uuid;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "device_id" uuid;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "metric" text;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "rule_key" text;
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "resolved_by" uuid;
--> statement-breakpoint
UPDATE "alerts" SET "opened_at" = "created_at", "state" = CASE WHEN "resolved_at" IS NOT NULL THEN 'resolved' WHEN "acknowledged_at" IS NOT NULL THEN 'acknowledged' ELSE 'open' END;
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_farm_id_farms_id_fk" FOREIGN KEY ("farm_id") REFERENCES "public"."farms"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_resolved_by_users_id_fk" FOREIGN KEY ("resolved_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "alerts_state_opened_idx" ON "alerts" USING btree ("state","opened_at");
--> statement-breakpoint
CREATE INDEX "alerts_farm_opened_idx" ON "alerts" USING btree ("farm_id","opened_at");
--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_rule_key" ON "alerts" USING btree ("rule_key") WHERE "alerts"."state" <> 'resolved' AND "alerts"."rule_key" IS NOT NULL;
