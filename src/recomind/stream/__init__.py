"""The event stream: every action goes to ``video_actions_stream``; consumer groups apply it."""
