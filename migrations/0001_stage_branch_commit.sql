ALTER TABLE `stages` ADD `branch` text;--> statement-breakpoint
ALTER TABLE `stages` ADD `commit` text;