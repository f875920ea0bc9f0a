ALTER TABLE `model_stats` ADD `success_cost_usd` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `stages` ADD `note` text;--> statement-breakpoint
-- Backfill (not generated): the spend of successful runs so far, from their stage rows (a succeeded
-- stage is always a model run), never more than the row's total.
UPDATE `model_stats` SET `success_cost_usd` = min(`total_cost_usd`, (SELECT coalesce(sum(`stages`.`cost_usd`), 0) FROM `stages` WHERE `stages`.`profile` = `model_stats`.`profile` AND `stages`.`task_kind` = `model_stats`.`task_kind` AND `stages`.`status` = 'succeeded'));
