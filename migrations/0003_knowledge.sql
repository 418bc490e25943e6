ALTER TABLE `decisions` ADD `verdict` text;--> statement-breakpoint
ALTER TABLE `decisions` ADD `verdict_at` integer;--> statement-breakpoint
ALTER TABLE `link_baselines` ADD `threshold` real;