CREATE TABLE `task_starts` (
	`task_id` text PRIMARY KEY NOT NULL,
	`caller` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_starts_caller_created_idx` ON `task_starts` (`caller`,`created_at`);