CREATE TABLE `action_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`decision_id` text NOT NULL,
	`node_id` text NOT NULL,
	`action_id` text,
	`outcome` text NOT NULL,
	`reason` text,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `action_results_decision_idx` ON `action_results` (`decision_id`);