-- 031_item_lang.sql: the language of the citizen who wrote the item, so that what civicdesk
-- sends them (the acknowledgement and every later notice, by e-mail and SMS) is in that one
-- language rather than in Chinese and English together. It comes from the page the form was
-- filled in on, a JSON client's "lang", or a guess from what the citizen wrote (e-mail: its
-- charset too). Items stored before this migration keep NULL: their notices stay bilingual.
-- No index: nothing looks items up by language, and each index a submission enters costs the
-- group-commit writer an entry (030's header). The CHECK compares in place (016's header: an
-- IN list of three fills a temporary b-tree each time the INSERT runs; written so, it cost the
-- writer 12,500 instructions a submission, bench/bench_intake under callgrind).

ALTER TABLE items ADD COLUMN lang TEXT   -- zh-Hans | zh-Hant | en; NULL: not recorded
  CHECK (lang = 'zh-Hans' OR lang = 'zh-Hant' OR lang = 'en');
