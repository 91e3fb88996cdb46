/*
 * sensor.cpp - a sensor on the device agent through the C++ wrapper
 * (eds::Agent in edgesentry/edgesentry.hpp).
 *
 *   sensor_cpp STATE_DIR KEY_FILE DEVICE_ID COUNT [URL]
 *
 * Same behaviour as sensor.c: COUNT readings signed into the crash-safe
 * chain and queue, each record printed as one JSON line, then forwarded to
 * URL when given.  Errors arrive as eds::Error: one line on stderr, exit 1.
 */
#include <cstdio>
#include <iostream>
#include <string>

#include <edgesentry/edgesentry.hpp>

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 6) {
		std::cerr << "usage: sensor_cpp STATE_DIR KEY_FILE DEVICE_ID COUNT [URL]\n";
		return 1;
	}
	try {
		unsigned long count = std::stoul(argv[4]);
		if (count == 0 || count > 100000)
			throw std::out_of_range("COUNT must be 1..100000");
		eds::init();
		eds::Agent agent(argv[1], argv[2], argv[3]);
		for (unsigned long i = 1; i <= count; i++) {
			/* A made-up vibration level; a real sensor reads its hardware here. */
			std::string reading = "vibration_rms=0." + std::to_string(10 + i % 80);
			eds::Record r =
			    agent.record(reading, "sensor/vibration-" + std::to_string(i));
			std::cout << r.to_json() << '\n';
		}
		std::cout.flush();
		if (argc == 6) {
			agent.forward(argv[5], 5000);
			if (!agent.flush(30000))
				throw eds::Error(EDS_E_IO,
				                 "records still queued after 30 s: " +
				                     std::to_string(agent.status().queued_records));
		}
	} catch (const std::exception &e) {
		std::cerr << "sensor_cpp: " << e.what() << '\n';
		return 1;
	}
	return 0;
}
