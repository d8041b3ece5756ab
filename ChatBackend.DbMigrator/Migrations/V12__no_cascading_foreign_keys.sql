-- Clustered databases. MySQL Group Replication in multi-primary mode refuses tables with cascading foreign keys
-- (a cascade's rows are not in the writeset that certification checks), so the two ON DELETE CASCADE keys become plain
-- ones: a conversation's delete now deletes its messages and responses itself, in the same transaction, before the
-- conversation's row (ConversationQueries.DeleteAsync, ResponseQueries.DeleteAsync). Every table keeps its primary key
-- (Galera and Group Replication both need one).
ALTER TABLE message_store DROP FOREIGN KEY fk_message_conversation;
ALTER TABLE message_store
    ADD CONSTRAINT fk_message_conversation FOREIGN KEY (conv_id) REFERENCES conversation_store (conv_id);

ALTER TABLE response DROP FOREIGN KEY fk_response_conversation;
ALTER TABLE response
    ADD CONSTRAINT fk_response_conversation FOREIGN KEY (conv_id) REFERENCES conversation_store (conv_id);

-- The sweep of turns that no instance runs any more (StaleRowsPurge): the few Pending messages, by age, without a
-- scan of every message.
ALTER TABLE message_store ADD KEY ix_message_status_updated (Status, updated_at);
