int which_one(void) { return 2; }
