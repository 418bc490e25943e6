CREATE TABLE `refusals` (
	`window_start` integer NOT NULL,
	`reason` text NOT NULL,
	`source` text NOT NULL,
	`count` integer NOT NULL,
	`last_detail` text,
	PRIMARY KEY(`window_start`, `reason`, `source`)
);
