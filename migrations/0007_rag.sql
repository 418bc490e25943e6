CREATE TABLE `rag_chunks` (
	`id` text PRIMARY KEY NOT NULL,
	`document_id` text NOT NULL,
	`collection` text NOT NULL,
	`ordinal` integer NOT NULL,
	`text` text NOT NULL,
	`tokens` integer NOT NULL,
	`added_gen` integer NOT NULL,
	`removed_gen` integer,
	`shard` integer
);
--> statement-breakpoint
CREATE INDEX `rag_chunks_document_idx` ON `rag_chunks` (`document_id`);--> statement-breakpoint
CREATE TABLE `rag_documents` (
	`id` text PRIMARY KEY NOT NULL,
	`collection` text NOT NULL,
	`title` text NOT NULL,
	`source` text,
	`tags` text NOT NULL,
	`node_ids` text NOT NULL,
	`decision_id` text,
	`content_type` text NOT NULL,
	`body` text NOT NULL,
	`body_sha256` text NOT NULL,
	`state` text NOT NULL,
	`live_gen` integer NOT NULL,
	`pending_gen` integer,
	`chunks` integer NOT NULL,
	`embedded_chunks` integer NOT NULL,
	`unchanged_chunks` integer NOT NULL,
	`indexed_for` text,
	`tokenizer` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rag_documents_state_idx` ON `rag_documents` (`state`,`updated_at`);--> statement-breakpoint
CREATE INDEX `rag_documents_decision_idx` ON `rag_documents` (`decision_id`);--> statement-breakpoint
CREATE TABLE `rag_shards` (
	`collection` text NOT NULL,
	`shard` integer NOT NULL,
	`vectors` integer NOT NULL,
	PRIMARY KEY(`collection`, `shard`)
);
--> statement-breakpoint
-- Lexical search over the same chunks (drizzle has no FTS5; written by hand). porter stems
-- English, unicode61 folds case and diacritics; chunk_id joins back to rag_chunks.
CREATE VIRTUAL TABLE `rag_chunks_fts` USING fts5(`text`, `chunk_id` UNINDEXED, tokenize = 'porter unicode61');
