ALTER TABLE `decisions` ADD `evidence` text;--> statement-breakpoint
ALTER TABLE `decisions` ADD `rag_indexed_at` integer;--> statement-breakpoint
CREATE INDEX `decisions_rag_indexed_idx` ON `decisions` (`rag_indexed_at`,`ts`);