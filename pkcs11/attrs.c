/* placeholder so the library target configures; replaced by the real implementation */
