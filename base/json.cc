// placeholder, implemented next
