CREATE TABLE `link_baselines` (
	`from_node` text NOT NULL,
	`to_node` text NOT NULL,
	`metric` text NOT NULL,
	`mean` real NOT NULL,
	`deviation` real NOT NULL,
	`samples` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`from_node`, `to_node`, `metric`)
);
