CREATE TABLE `dao_applied_steps` (
	`proposal_id` text NOT NULL,
	`step` integer NOT NULL,
	`applied_at` integer NOT NULL,
	PRIMARY KEY(`proposal_id`, `step`)
);
--> statement-breakpoint
CREATE TABLE `dao_balances` (
	`space_id` text NOT NULL,
	`address` text NOT NULL,
	`block` integer NOT NULL,
	`balance` text NOT NULL,
	PRIMARY KEY(`space_id`, `address`, `block`)
);
--> statement-breakpoint
CREATE TABLE `dao_executions` (
	`proposal_id` text PRIMARY KEY NOT NULL,
	`space_id` text NOT NULL,
	`state` text NOT NULL,
	`eta` integer NOT NULL,
	`changes` text NOT NULL,
	`error` text,
	`cancelled_by` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dao_executions_due_idx` ON `dao_executions` (`state`,`eta`);--> statement-breakpoint
CREATE TABLE `dao_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`space_id` text NOT NULL,
	`address` text NOT NULL,
	`sig` text NOT NULL,
	`envelope` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dao_messages_space_idx` ON `dao_messages` (`space_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `dao_proposals` (
	`id` text PRIMARY KEY NOT NULL,
	`space_id` text NOT NULL,
	`author` text NOT NULL,
	`type` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`choices` text NOT NULL,
	`start` integer NOT NULL,
	`end` integer NOT NULL,
	`snapshot` integer NOT NULL,
	`payload` text,
	`state` text NOT NULL,
	`tally` text NOT NULL,
	`provenance` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dao_proposals_space_idx` ON `dao_proposals` (`space_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `dao_proposals_open_idx` ON `dao_proposals` (`state`,`end`);--> statement-breakpoint
CREATE TABLE `dao_spaces` (
	`id` text PRIMARY KEY NOT NULL,
	`settings` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `dao_votes` (
	`proposal_id` text NOT NULL,
	`voter` text NOT NULL,
	`id` text NOT NULL,
	`choice` text NOT NULL,
	`power` real NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL,
	`provenance` text NOT NULL,
	PRIMARY KEY(`proposal_id`, `voter`)
);
--> statement-breakpoint
CREATE TABLE `mesh_policy` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`proposal_id` text NOT NULL,
	`revision` integer NOT NULL,
	`applied_at` integer NOT NULL
);
