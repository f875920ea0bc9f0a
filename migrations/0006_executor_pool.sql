CREATE TABLE `executors` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`capacity` integer DEFAULT 0 NOT NULL,
	`running` text DEFAULT '[]' NOT NULL,
	`queued` integer DEFAULT 0 NOT NULL,
	`repos` text DEFAULT '[]' NOT NULL,
	`readiness` text DEFAULT '{"profiles":{},"consensus":{"ready":false},"direct":{}}' NOT NULL,
	`version` text NOT NULL,
	`state` text DEFAULT 'active' NOT NULL,
	`stopping` integer DEFAULT false NOT NULL,
	`claims` integer DEFAULT 0 NOT NULL,
	`claimed_by` text,
	`sent_at` integer NOT NULL,
	`last_heartbeat_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `stages` ADD `executor_id` text;--> statement-breakpoint
CREATE INDEX `tasks_repo_created_idx` ON `tasks` (`repo`,`created_at`);