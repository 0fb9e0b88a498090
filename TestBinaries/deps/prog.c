/* A program that needs whatever it was linked against; it calls nothing, the loader does all the work. */
int main(void) { return 0; }
