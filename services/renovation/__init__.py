"""Renovation projects (老旧小区改造): projects, phases and evidence, the three roles, schedule, funds."""
