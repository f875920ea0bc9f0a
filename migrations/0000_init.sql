CREATE TABLE `checkpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text,
	`label` text NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `checkpoints_task_idx` ON `checkpoints` (`task_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `circuit_breaker` (
	`scope` text PRIMARY KEY NOT NULL,
	`spent_usd` real DEFAULT 0 NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	`state` text DEFAULT 'ok' NOT NULL,
	`acknowledged_at` integer,
	`acknowledged_by` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `decisions` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text,
	`kind` text NOT NULL,
	`decision` text NOT NULL,
	`rationale` text,
	`actor` text DEFAULT 'orchestrator' NOT NULL,
	`data` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `decisions_task_idx` ON `decisions` (`task_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `model_stats` (
	`profile` text NOT NULL,
	`task_kind` text DEFAULT 'general' NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	`successes` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`total_cost_usd` real DEFAULT 0 NOT NULL,
	`total_latency_ms` integer DEFAULT 0 NOT NULL,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`last_failure_at` integer,
	`cooldown_until` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`profile`, `task_kind`)
);
--> statement-breakpoint
CREATE TABLE `stages` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`task_kind` text DEFAULT 'general' NOT NULL,
	`profile` text NOT NULL,
	`cli` text NOT NULL,
	`model` text NOT NULL,
	`status` text NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`tokens_in` integer DEFAULT 0 NOT NULL,
	`tokens_out` integer DEFAULT 0 NOT NULL,
	`tokens_cache_read` integer DEFAULT 0 NOT NULL,
	`tokens_cache_write` integer DEFAULT 0 NOT NULL,
	`latency_ms` integer DEFAULT 0 NOT NULL,
	`error_kind` text,
	`error_message` text,
	`job_id` text,
	`verify_ok` integer,
	`files_changed` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stages_task_attempt_uq` ON `stages` (`task_id`,`attempt`);--> statement-breakpoint
CREATE INDEX `stages_created_idx` ON `stages` (`created_at`);--> statement-breakpoint
CREATE INDEX `stages_profile_created_idx` ON `stages` (`profile`,`created_at`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`kind` text DEFAULT 'general' NOT NULL,
	`prompt` text NOT NULL,
	`repo` text NOT NULL,
	`ref` text,
	`profile` text DEFAULT 'auto' NOT NULL,
	`verbosity` text DEFAULT 'mermaid' NOT NULL,
	`verify` text,
	`budget_usd` real,
	`spec` text,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`result` text,
	`error` text,
	`flags` text DEFAULT '[]' NOT NULL,
	`replay_of` text,
	`replay_key` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`closed_at` integer
);
--> statement-breakpoint
CREATE INDEX `tasks_status_created_idx` ON `tasks` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_created_idx` ON `tasks` (`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_replay_key_uq` ON `tasks` (`replay_key`);--> statement-breakpoint
CREATE TABLE `transcripts` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`stage_id` text,
	`attempt` integer,
	`kind` text DEFAULT 'cli' NOT NULL,
	`content` text NOT NULL,
	`bytes` integer NOT NULL,
	`truncated` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `transcripts_task_idx` ON `transcripts` (`task_id`,`created_at`);