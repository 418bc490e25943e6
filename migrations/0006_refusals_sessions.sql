CREATE TABLE `dashboard_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`spiffe_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dashboard_sessions_expires_idx` ON `dashboard_sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `login_codes` (
	`code_hash` text PRIMARY KEY NOT NULL,
	`spiffe_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE TABLE `refusals` (
	`window_start` integer NOT NULL,
	`reason` text NOT NULL,
	`source` text NOT NULL,
	`count` integer NOT NULL,
	`last_detail` text,
	PRIMARY KEY(`window_start`, `reason`, `source`)
);
