ALTER TABLE `stages` ADD `prompt_version` text;--> statement-breakpoint
CREATE INDEX `stages_status_idx` ON `stages` (`status`,`created_at`);--> statement-breakpoint
ALTER TABLE `tasks` ADD `executor` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `climb` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `idempotency_key` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `request_hash` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `waiting_for` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `replay_root` text;--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_idempotency_key_uq` ON `tasks` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `tasks_replay_root_idx` ON `tasks` (`replay_root`);