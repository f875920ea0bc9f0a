CREATE TABLE `repos` (
	`name` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`default_branch` text DEFAULT 'main' NOT NULL,
	`deliver` text DEFAULT 'none' NOT NULL,
	`github` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `stages` ADD `base_commit` text;--> statement-breakpoint
ALTER TABLE `stages` ADD `base_fetched_at` integer;--> statement-breakpoint
ALTER TABLE `stages` ADD `base_fresh` integer;--> statement-breakpoint
ALTER TABLE `stages` ADD `base_note` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `deliver` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `branch` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `commit` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `diff_files` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `diff_added` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `diff_deleted` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `pr_url` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `pr_number` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `delivery` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `delivery_error` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `delivered_at` integer;