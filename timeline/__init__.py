"""liveblog-timeline: live blogs in, clean ordered live timelines out."""
