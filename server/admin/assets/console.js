// placeholder until the console is written
