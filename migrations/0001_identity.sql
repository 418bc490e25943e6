CREATE TABLE `bundle_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`sequence` integer NOT NULL,
	`fingerprint` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `issued_svids` (
	`serial` text PRIMARY KEY NOT NULL,
	`spiffe_id` text NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `issued_svids_spiffe_idx` ON `issued_svids` (`spiffe_id`);--> statement-breakpoint
CREATE TABLE `join_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`spiffe_id` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE INDEX `join_tokens_expires_idx` ON `join_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `registrations` (
	`spiffe_id` text PRIMARY KEY NOT NULL,
	`node_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_attested_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `revocations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`spiffe_id` text,
	`serial` text,
	`reason` text NOT NULL,
	`revoked_by` text NOT NULL,
	`revoked_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `revocations_spiffe_idx` ON `revocations` (`spiffe_id`);--> statement-breakpoint
CREATE INDEX `revocations_serial_idx` ON `revocations` (`serial`);--> statement-breakpoint
CREATE TABLE `used_nonces` (
	`nonce` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `used_nonces_expires_idx` ON `used_nonces` (`expires_at`);