#  Catch-up speed of a fresh query node over a log of 1,000,000 events
#  (EVENTS=N for another size): make bench-catchup
.PHONY: bench-catchup
bench-catchup: deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_catchup
	@sh bench/catchup.sh $(BUILD) $(or $(EVENTS),1000000)
