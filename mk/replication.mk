#  Catch-up speed of a fresh query node over a log of 1,000,000 events
#  (EVENTS=N for another size; STORAGE=memory for read models in memory,
#  leveldb by default): make bench-catchup
.PHONY: bench-catchup
bench-catchup: deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_catchup
	@sh bench/catchup.sh $(BUILD) $(or $(EVENTS),1000000) $(or $(STORAGE),leveldb)
