CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`subject` text,
	`outcome` text NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_ts_idx` ON `audit_log` (`ts`);--> statement-breakpoint
CREATE INDEX `audit_log_action_ts_idx` ON `audit_log` (`action`,`ts`);--> statement-breakpoint
CREATE TABLE `decisions` (
	`id` text PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`node_id` text,
	`kind` text NOT NULL,
	`what` text NOT NULL,
	`why` text NOT NULL,
	`inputs` text NOT NULL,
	`outcome` text,
	`outcome_at` integer
);
--> statement-breakpoint
CREATE INDEX `decisions_node_ts_idx` ON `decisions` (`node_id`,`ts`);--> statement-breakpoint
CREATE INDEX `decisions_kind_ts_idx` ON `decisions` (`kind`,`ts`);--> statement-breakpoint
CREATE TABLE `links` (
	`from_node` text NOT NULL,
	`to_node` text NOT NULL,
	`tq` integer NOT NULL,
	`latency_ms` real NOT NULL,
	`loss` real NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`from_node`, `to_node`)
);
--> statement-breakpoint
CREATE INDEX `links_updated_at_idx` ON `links` (`updated_at`);--> statement-breakpoint
CREATE TABLE `nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`spiffe_id` text NOT NULL,
	`role` text NOT NULL,
	`status` text NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`firmware_version` text NOT NULL,
	`last_telemetry_ts` integer
);
--> statement-breakpoint
CREATE INDEX `nodes_status_idx` ON `nodes` (`status`);--> statement-breakpoint
CREATE TABLE `telemetry_rollups` (
	`node_id` text NOT NULL,
	`minute` integer NOT NULL,
	`samples` integer NOT NULL,
	`link_samples` integer NOT NULL,
	`tq_sum` integer NOT NULL,
	`latency_ms_sum` real NOT NULL,
	`loss_sum` real NOT NULL,
	`rx_bytes` integer NOT NULL,
	`tx_bytes` integer NOT NULL,
	`rx_dropped` integer NOT NULL,
	`tx_dropped` integer NOT NULL,
	`rss_bytes_max` integer NOT NULL,
	`cpu_percent_sum` real NOT NULL,
	PRIMARY KEY(`node_id`, `minute`)
);
