// Called through the program's PLT, calls straight back: every level of the recursion is an open traced call.
int descend(int n, int (*back)(int)) { return back(n); }
