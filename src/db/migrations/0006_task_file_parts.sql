CREATE TABLE "task_file_parts" (
	"task_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"part" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "task_file_parts_task_id_position_part_pk" PRIMARY KEY("task_id","position","part")
);
--> statement-breakpoint
ALTER TABLE "task_file_parts" ADD CONSTRAINT "task_file_parts_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;
