ALTER TABLE `nodes` ADD `last_telemetry_seq` integer;--> statement-breakpoint
ALTER TABLE `nodes` ADD `samples_stored` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `nodes` ADD `samples_missing` integer DEFAULT 0 NOT NULL;